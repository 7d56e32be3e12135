//! Sources: Git repositories resolved to commits and materialised trees.
