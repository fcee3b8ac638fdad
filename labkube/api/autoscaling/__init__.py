"""HorizontalPodAutoscaler, served as autoscaling/v2 (stored) and autoscaling/v1 (converted):
its field types (`types`), conversion between the versions (`conversion`), defaults
(`defaults`) and validation (`validation`), as upstream's pkg/apis/autoscaling."""
