# 零知识证明实现
proof = generate_proof(local_data)
