# 假设我们有一个本地数据集
local_data = load_local_data()

# 数据预处理
local_data = preprocess_data(local_data)

# 划分训练集和验证集
train_data, val_data = train_test_split(local_data, test_size=0.2)
