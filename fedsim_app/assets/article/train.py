# 本地训练
for epoch in range(num_epochs):
    # 训练模型
    model.fit(train_data, epochs=1, validation_data=val_data)

# 计算梯度
gradients = model.optimizer.get_gradients(model.loss, model.trainable_variables)
