package dev.sluice.config.etcd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.support.Json;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/**
 * The last config a gateway applied from etcd, kept on local disk so that a restart while etcd is down still serves:
 * <pre>{"etcd": "etcd://…/sluice", "revision": 42, "savedAt": "2026-…Z", "config": { …the document… }}</pre>
 * Written atomically (temp file, flushed, moved over the old one) and readable by the owner only: the config may
 * hold upstream API keys.
 */
final class LastKnownGood {
  /**
   * @param text the config document
   * @param revision its mod_revision in etcd
   * @param savedAt when this gateway applied it
   */
  record Saved(String text, long revision, Instant savedAt) {}

  private LastKnownGood() {}

  static void write(Path file, String etcdUrl, String configText, long revision, Instant now) throws IOException {
    ObjectNode root = Json.MAPPER.createObjectNode();
    root.put("etcd", etcdUrl).put("revision", revision).put("savedAt", now.toString());
    root.set("config", Json.MAPPER.readTree(configText));
    writeAtomically(file, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
  }

  /** The saved config; empty when there is no file. IOException naming the file when it cannot be used. */
  static Optional<Saved> read(Path file) throws IOException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
    JsonNode root;
    try {
      root = Json.MAPPER.readTree(bytes);
    } catch (IOException e) {
      throw new IOException(file + ": not valid JSON (" + e.getMessage() + "); delete it and start with etcd up", e);
    }
    if (root == null || !root.path("config").isObject()) {
      throw new IOException(file + ": no \"config\" object; delete it and start with etcd up");
    }
    Instant savedAt;
    try {
      savedAt = Instant.parse(root.path("savedAt").asText());
    } catch (DateTimeParseException e) {
      savedAt = Instant.EPOCH;
    }
    String text = Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(root.get("config"));
    return Optional.of(new Saved(text, root.path("revision").asLong(0), savedAt));
  }

  static void writeAtomically(Path file, byte[] content) throws IOException {
    Path abs = file.toAbsolutePath();
    Path dir = abs.getParent();
    Files.createDirectories(dir);
    boolean posix = Files.getFileStore(dir).supportsFileAttributeView("posix");
    FileAttribute<?>[] attrs = posix
        ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))}
        : new FileAttribute<?>[0];
    Path tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp", attrs);
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        ByteBuffer b = ByteBuffer.wrap(content);
        while (b.hasRemaining()) ch.write(b);
        ch.force(true);
      }
      Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
