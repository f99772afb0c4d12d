# 模型更新
for var, aggregated_param in zip(model.trainable_variables, aggregated_params):
    var.assign(aggregated_param)
