"""Numbers computed from a trained network and its data, beyond loss and accuracy: node outputs over a
split (node_outputs.py), principal components (pca.py) and nearest-neighbour accuracy (knn.py)."""
