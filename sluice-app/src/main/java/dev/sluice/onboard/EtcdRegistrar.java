package dev.sluice.onboard;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.SluiceConfig;
import dev.sluice.config.etcd.EtcdConfigStore;
import java.io.IOException;
import java.util.Objects;

/**
 * Registers a node in the config shared by every replica through etcd: a compare-and-swap edit of
 * {@code <prefix>/config} ({@link ConfigEdits#withNode}, validated before the write), which each replica's watch
 * applies within milliseconds. The replica followed for READY is asked first, like {@link ConfigFileRegistrar}.
 */
final class EtcdRegistrar implements NodeRegistrar {
  private final EtcdConfigStore store;
  private final AdminClient gateway;

  EtcdRegistrar(EtcdConfigStore store, AdminClient gateway) {
    this.store = Objects.requireNonNull(store, "store");
    this.gateway = Objects.requireNonNull(gateway, "gateway");
  }

  @Override
  public String target() {
    return store.url().toString();
  }

  @Override
  public Registration register(NodeRequest node) throws IOException, InterruptedException, ConfigException {
    AdminApiRegistrar.refuseDuplicatesOnRunning(gateway, node, "the running replica", "etcd was not changed (give "
        + "--gateway the URL of a running replica: onboard follows the node there until it is READY)");
    String[] provider = new String[1];
    long revision = store.update(root -> { // the store validates the result before it writes
      SluiceConfig current;
      try {
        current = ConfigLoader.parse(root.toString(), target());
      } catch (ConfigException e) {
        throw new OnboardException("the config in etcd is invalid (" + String.join("; ", e.problems())
            + "); fix it with sluice config pull / push first");
      }
      ObjectNode next = ConfigEdits.withNode(root, current, node); // refuses a duplicate or an unserved model
      provider[0] = current.model(node.model()).orElseThrow().provider();
      return next;
    });
    return new Registration(provider[0], "written to etcd at revision " + revision
        + "; every replica applies it within a second", null, null);
  }
}
