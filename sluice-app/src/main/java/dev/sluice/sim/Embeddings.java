package dev.sluice.sim;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.SplittableRandom;

/** Deterministic embeddings: a unit vector drawn from a random generator seeded with a hash of model and text. */
final class Embeddings {
  private Embeddings() {}

  static float[] of(String model, String text, int dimensions) {
    SplittableRandom random = new SplittableRandom(fnv1a(model + '\0' + text));
    double[] raw = new double[dimensions];
    double norm = 0;
    for (int i = 0; i < dimensions; i++) {
      raw[i] = random.nextDouble(-1, 1);
      norm += raw[i] * raw[i];
    }
    norm = Math.sqrt(norm);
    float[] vector = new float[dimensions];
    for (int i = 0; i < dimensions; i++) {
      vector[i] = (float) (raw[i] / norm);
    }
    return vector;
  }

  /** OpenAI's and vLLM's {@code encoding_format: "base64"}: the base64 of the vector as little-endian float32s. */
  static String base64(float[] vector) {
    ByteBuffer bytes = ByteBuffer.allocate(vector.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    for (float value : vector) {
      bytes.putFloat(value);
    }
    return Base64.getEncoder().encodeToString(bytes.array());
  }

  private static long fnv1a(String text) {
    long hash = 0xcbf29ce484222325L;
    for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
      hash ^= b & 0xff;
      hash *= 0x100000001b3L;
    }
    return hash;
  }
}
