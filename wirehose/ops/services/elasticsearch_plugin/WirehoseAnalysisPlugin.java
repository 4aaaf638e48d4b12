package io.wirehose.analysis;

import java.util.Map;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.index.analysis.AbstractIndexAnalyzerProvider;
import org.elasticsearch.index.analysis.AnalyzerProvider;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

/**
 * The `english` analyzer for the slim Elasticsearch distribution that Maven Central publishes.
 *
 * That distribution (integ-test-zip) leaves out the analysis-common module, so `english` is
 * unknown to it. Lucene's EnglishAnalyzer ships in the distribution's own lib/ folder; this
 * plugin only registers it under the name the full distribution uses, so one index mapping
 * works on both. Not installed on a full distribution (Docker images), which has its own.
 */
public class WirehoseAnalysisPlugin extends Plugin implements AnalysisPlugin {

    @Override
    public Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> getAnalyzers() {
        return Map.of("english", (indexSettings, environment, name, settings) -> new EnglishProvider(name, settings));
    }

    static final class EnglishProvider extends AbstractIndexAnalyzerProvider<EnglishAnalyzer> {
        private final EnglishAnalyzer analyzer = new EnglishAnalyzer();

        EnglishProvider(String name, Settings settings) {
            super(name, settings);
        }

        @Override
        public EnglishAnalyzer get() {
            return analyzer;
        }
    }
}
