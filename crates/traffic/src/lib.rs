//! Traffic routing for Rollouts, without I/O: given a Rollout, its traffic-routing spec and the weights the
//! state machine decided, compute the objects and patches the controller applies to the routers.
