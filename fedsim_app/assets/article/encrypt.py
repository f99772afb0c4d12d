# 同态加密实现
encrypted_data = encrypt_data(local_data)
