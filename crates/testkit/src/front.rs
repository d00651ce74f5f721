//! The TLS front in front of the local Pulp (config/front/front.sh), when one is running.
// TODO: typed once front.sh writes .build/front/<layout>/front.env.
