package dev.sluice.sim;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.support.Json;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class JsonValuesTest {
  private static final String SCHEMA = """
      {"type":"object","$defs":{"point":{"type":"object","properties":{"x":{"type":"number","minimum":-1,
        "maximum":1},"y":{"type":"integer","exclusiveMinimum":0,"maximum":3}},"required":["x","y"]}},
       "properties":{
        "name":{"type":"string","minLength":5,"maxLength":8},
        "kind":{"enum":["a","b",3]},
        "fixed":{"const":"yes"},
        "maybe":{"type":["null","integer"],"minimum":7,"maximum":7},
        "points":{"type":"array","items":{"$ref":"#/$defs/point"},"minItems":2,"maxItems":4},
        "either":{"anyOf":[{"type":"boolean"},{"type":"string","format":"date"}]},
        "merged":{"allOf":[{"type":"object","properties":{"p":{"type":"boolean"}},"required":["p"]},
          {"properties":{"q":{"type":"integer"}},"required":["q"]}]}},
       "required":["name","kind","fixed","maybe","points","either","merged"]}""";

  @Test
  void valuesConformToTheSchemaForManySeeds() throws Exception {
    JsonNode schema = Json.MAPPER.readTree(SCHEMA);
    for (long seed = 0; seed < 200; seed++) {
      JsonNode value = JsonValues.conforming(schema, new SplittableRandom(seed));

      assertThat(SchemaCheck.violations(schema, value)).as(value.toString()).isEmpty();
      assertThat(value.path("maybe").asInt()).isEqualTo(7);
      assertThat(value.path("points")).allSatisfy(point ->
          assertThat(SchemaCheck.violations(schema.at("/$defs/point"), point)).isEmpty());
      assertThat(value.path("merged").has("p") && value.path("merged").has("q")).isTrue();
      JsonNode either = value.path("either");
      assertThat(either.isBoolean() || either.asText().matches("\\d{4}-\\d{2}-\\d{2}")).isTrue();
    }
  }

  @Test
  void theSameSeedGivesTheSameValueAndPiecesJoinBackToTheText() throws Exception {
    JsonNode schema = Json.MAPPER.readTree(SCHEMA);
    String text = JsonValues.conforming(schema, new SplittableRandom(42)).toString();

    List<String> pieces = JsonValues.pieces(text, new SplittableRandom(1));

    assertThat(JsonValues.conforming(schema, new SplittableRandom(42)).toString()).isEqualTo(text);
    assertThat(String.join("", pieces)).isEqualTo(text);
    assertThat(pieces).hasSizeGreaterThan(text.length() / 7)
        .allSatisfy(piece -> assertThat(Character.isLowSurrogate(piece.charAt(0))).isFalse());
  }

  @Test
  void aRecursiveSchemaEnds() throws Exception {
    JsonNode schema = Json.MAPPER.readTree("""
        {"$defs":{"node":{"type":"object","properties":{"children":{"type":"array",
          "items":{"$ref":"#/$defs/node"}}}}},"$ref":"#/$defs/node"}""");

    assertThat(JsonValues.conforming(schema, new SplittableRandom(3)).isObject()).isTrue();
  }
}
