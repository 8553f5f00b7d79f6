/**
 * The config centre on etcd: {@link dev.sluice.config.etcd.EtcdConfigSource} feeds a gateway's ConfigHolder from an
 * etcd key prefix (watch, last-known-good file, reconnect), {@link dev.sluice.config.etcd.EtcdConfigStore} is the CLI's
 * blocking read/compare-and-swap access. Start with {@link dev.sluice.config.etcd.EtcdUrl} for the key layout.
 */
package dev.sluice.config.etcd;
