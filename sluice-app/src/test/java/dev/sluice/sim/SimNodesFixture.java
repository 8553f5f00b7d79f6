package dev.sluice.sim;

import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/** Simulated nodes on loopback for a test class: one Vertx per class, every node started by a test closed after it. */
abstract class SimNodesFixture {
  static Vertx vertx;
  private final List<SimNode> nodes = new ArrayList<>();

  @BeforeAll
  static void startVertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void closeVertx() {
    vertx.close().await();
  }

  @AfterEach
  void closeNodes() {
    nodes.forEach(node -> node.close().await());
    nodes.clear();
  }

  /** A node the test closed itself: not closed again after it. */
  void forget(SimNode node) {
    nodes.remove(node);
  }

  /** Starts a node that is closed after the test. */
  SimNode start(SimOptions options) {
    SimNode node = SimNode.start(vertx, options).await();
    nodes.add(node);
    return node;
  }
}
