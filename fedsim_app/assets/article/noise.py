# 差分隐私实现
noisy_data = add_noise(local_data)
