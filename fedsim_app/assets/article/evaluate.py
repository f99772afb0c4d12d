# 模型评估
test_loss = model.evaluate(test_data)
