//! What the `coord` command and the integration tests share: the outside ZooKeeper
//! servers and clients that coord's ZooKeeper is compared with and tested by.

pub mod coord_zk;
pub mod diff_plan;
pub mod diff_run;
pub mod jute_client;
pub mod kazoo;
pub mod members;
pub mod zk_diff;
pub mod zkcli;
pub mod zookeeper;
