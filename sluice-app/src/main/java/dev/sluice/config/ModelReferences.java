package dev.sluice.config;

import dev.sluice.degrade.CacheSettings;
import dev.sluice.degrade.DegradationSettings;
import dev.sluice.limit.LimitSettings;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The checks across sections, run once every section is read: a model listed by several providers has one set of
 * limits, and every model id named outside the providers (downgrade map, overflow models, cache and limit lists) is
 * a configured model.
 */
final class ModelReferences {
  private final ConfigReader r;
  /** "providers" or "models.providers", for the paths in messages. */
  private final String providersPath;

  ModelReferences(ConfigReader r, String providersPath) {
    this.r = r;
    this.providersPath = providersPath;
  }

  /**
   * A model listed by several providers is one route with one set of limits ({@link SluiceConfig#models()} keeps
   * the first spec), so the limits must agree or the context-window check would silently use one of them.
   */
  void checkSharedModelsAgree(List<ProviderSpec> providers) {
    Map<String, ProviderSpec> firstOwner = new HashMap<>();
    Map<String, ModelSpec> firstSpec = new HashMap<>();
    for (ProviderSpec p : providers) {
      for (ModelSpec m : p.models()) {
        ModelSpec prev = firstSpec.putIfAbsent(m.id(), m);
        firstOwner.putIfAbsent(m.id(), p);
        if (prev == null) continue;
        if (prev.contextWindowTokens() != m.contextWindowTokens() || prev.maxTokens() != m.maxTokens()) {
          r.problem(providersPath + "." + p.name() + ".models", "model \"" + m.id() + "\" is also listed by provider \""
              + firstOwner.get(m.id()).name() + "\" with a different contextWindow/maxTokens; a model has one "
              + "limit, make them equal");
        }
      }
    }
  }

  /** Model ids named outside providers (downgrade map, overflow models, cache and limit lists) must be configured. */
  void checkModelReferences(List<ProviderSpec> providers, DegradationSettings degradation,
      CacheSettings cache, LimitSettings limits) {
    Map<String, ModelSpec> models = new LinkedHashMap<>();
    for (ProviderSpec p : providers) for (ModelSpec m : p.models()) models.putIfAbsent(m.id(), m);
    if (models.isEmpty()) return; // providers already reported
    String known = " (configured models: " + String.join(", ", models.keySet()) + ")";
    degradation.downgrade().forEach((from, to) -> {
      if (!models.containsKey(from)) {
        r.problem("degradation.downgrade." + from, "\"" + from + "\" is not a configured model" + known);
      } else if (!models.containsKey(to)) {
        r.problem("degradation.downgrade." + from, "target \"" + to + "\" is not a configured model" + known);
      } else if (from.equals(to)) {
        r.problem("degradation.downgrade." + from, "downgrades to itself; name a smaller model");
      }
    });
    for (String m : cache.models()) {
      if (!models.containsKey(m)) r.problem("cache.models", "\"" + m + "\" is not a configured model" + known);
    }
    for (String m : limits.models().keySet()) {
      if (!models.containsKey(m)) r.problem("limits.models." + m, "\"" + m + "\" is not a configured model" + known);
    }
    for (ProviderSpec p : providers) {
      for (ModelSpec m : p.models()) {
        if (m.overflowModel() == null) continue;
        String at = providersPath + "." + p.name() + ".models[" + p.models().indexOf(m) + "].overflowModel";
        ModelSpec target = models.get(m.overflowModel());
        if (target == null) {
          r.problem(at, "\"" + m.overflowModel() + "\" is not a configured model" + known);
        } else if (target.id().equals(m.id())) {
          r.problem(at, "names the model itself; name a model with a larger contextWindow");
        } else if (m.contextWindowTokens() > 0 && target.contextWindowTokens() > 0
            && target.contextWindowTokens() <= m.contextWindowTokens()) {
          r.problem(at, "\"" + target.id() + "\" has contextWindow " + target.contextWindowTokens()
              + ", not larger than " + m.contextWindowTokens() + "; name a model with a larger contextWindow");
        }
      }
    }
  }
}
