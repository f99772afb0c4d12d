# 模型参数聚合
aggregated_params = aggregate_gradients(gradients)
