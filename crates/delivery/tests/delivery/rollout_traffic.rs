//! Traffic routers: NGINX canary Ingress, Gateway API HTTPRoute, Istio VirtualService; abort and restart.
