//! Rendering: the `Renderer` seam and the plain-manifest renderer.
