//! Health: kstatus-like assessment of Kubernetes objects. Pure functions.
