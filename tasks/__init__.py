"""Fine-tuning: task models on a pretrained backbone (`TextClassifier`, `TokenClassifier`), their tf-text
preprocessors, losses (`SparseFocalLoss`), layer-wise learning-rate decay and text generation."""
