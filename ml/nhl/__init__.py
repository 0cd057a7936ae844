"""NHL face-off model: training data, LightGBM training, ONNX export and detection cut-offs."""
