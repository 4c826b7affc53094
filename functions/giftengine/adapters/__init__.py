"""Adapters at the edge: Firestore, Pub/Sub, Cloud Tasks, Auth. The only Google imports."""
