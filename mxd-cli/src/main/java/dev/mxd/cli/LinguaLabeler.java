package dev.mxd.cli;

import com.github.pemistahl.lingua.api.Language;
import com.github.pemistahl.lingua.api.LanguageDetector;
import com.github.pemistahl.lingua.api.LanguageDetectorBuilder;
import dev.mxd.text.probe.DocumentLabels;
import java.util.Locale;

/**
 * Language labels for Europarl documents from the Lingua detector, restricted to the 21 languages of Europarl and
 * to its trigram models (low-accuracy mode: Europarl documents are paragraphs, and the models load in seconds
 * instead of minutes). A label is kept only when Lingua is confident: its relative confidence in the best
 * language leads the runner-up's by at least {@link #MIN_MARGIN} (Lingua's minimum relative distance); otherwise
 * the document is left out. Labels are ISO 639-1 codes ({@code "de"}).
 */
final class LinguaLabeler implements DocumentLabels.Labeler {
    /** The version of com.github.pemistahl:lingua in the root pom, for the outputs that name it. */
    static final String VERSION = "1.2.2";
    /** Lingua's minimum relative distance between the best language and the runner-up. */
    static final double MIN_MARGIN = 0.2;

    static final Language[] EUROPARL = {Language.BULGARIAN, Language.CZECH, Language.DANISH, Language.GERMAN,
            Language.GREEK, Language.ENGLISH, Language.SPANISH, Language.ESTONIAN, Language.FINNISH, Language.FRENCH,
            Language.HUNGARIAN, Language.ITALIAN, Language.LITHUANIAN, Language.LATVIAN, Language.DUTCH,
            Language.POLISH, Language.PORTUGUESE, Language.ROMANIAN, Language.SLOVAK, Language.SLOVENE,
            Language.SWEDISH};

    private final LanguageDetector detector = LanguageDetectorBuilder.fromLanguages(EUROPARL).withLowAccuracyMode()
            .withMinimumRelativeDistance(MIN_MARGIN).build();

    @Override
    public String description() {
        return String.format(Locale.ROOT, "detected by Lingua %s (com.github.pemistahl:lingua) among the %d Europarl"
                + " languages, trigram models; a label is kept when its confidence leads the runner-up's by at least"
                + " %.2f", VERSION, EUROPARL.length, MIN_MARGIN);
    }

    @Override
    public String label(String text) {
        Language l = detector.detectLanguageOf(text);
        return l == Language.UNKNOWN ? null : l.getIsoCode639_1().toString().toLowerCase(Locale.ROOT);
    }
}
