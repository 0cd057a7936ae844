"""Offline side of the F1 pit-battle model: shared data -> timing messages -> battles -> training
set -> XGBoost -> ONNX artifacts under services/race_predictor/race_predictor/artifacts/.
"""
