package dev.sluice.onboard;

import dev.sluice.config.ConfigException;
import dev.sluice.config.etcd.EtcdConfigStore;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Where an onboarded node is registered: one implementation per mode ({@link AdminApiRegistrar} for a running
 * gateway's admin API, {@link ConfigFileRegistrar} for the embedded default's config file, {@link EtcdRegistrar} for
 * the config replicas share through etcd).
 */
public interface NodeRegistrar {
  /** Where nodes go, for the progress line: {@code the admin API of http://10.0.0.2:8080}, {@code sluice.json}. */
  String target();

  /**
   * Registers {@code node} with the provider serving its model, refusing a node whose id or URL is already
   * registered. Nothing is changed when it throws.
   *
   * @throws OnboardException a refusal (duplicate, model not configured, token refused) naming the fix
   * @throws ConfigException the config is invalid, or would be with the node
   * @throws IOException the target could not be read or written
   */
  Registration register(NodeRequest node) throws IOException, InterruptedException, ConfigException;

  /** Through {@code POST /admin/nodes} of a running gateway. */
  static NodeRegistrar adminApi(AdminClient gateway) {
    return new AdminApiRegistrar(gateway);
  }

  /** Into {@code file}, which the gateway behind {@code gateway} hot-reloads. */
  static NodeRegistrar configFile(Path file, AdminClient gateway) {
    return new ConfigFileRegistrar(file, gateway);
  }

  /** Into the config in etcd that every replica watches; {@code gateway} is one replica, followed for READY. */
  static NodeRegistrar etcd(EtcdConfigStore store, AdminClient gateway) {
    return new EtcdRegistrar(store, gateway);
  }
}
