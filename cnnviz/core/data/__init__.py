"""Data: MNIST and Fashion-MNIST, IDX files, a drawing or picture made into the model input, augmentation."""
