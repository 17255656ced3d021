package dev.mxd.text.minilm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mxd.text.Europarl;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The token ids of some Europarl documents as Hugging Face's tokenizers gives them
 * ({@code tools/fixtures/make_token_fixture.mjs} wrote {@code token_ids.json}).
 */
record TokenFixture(int index, String language, int maxTokens, int[] ids) {

    static List<TokenFixture> all() {
        try (InputStream in = TokenFixture.class.getResourceAsStream("token_ids.json")) {
            JsonNode root = new ObjectMapper().readTree(in);
            List<TokenFixture> out = new ArrayList<>();
            for (JsonNode d : root.get("documents")) {
                JsonNode ids = d.get("ids");
                int[] a = new int[ids.size()];
                for (int i = 0; i < a.length; i++) {
                    a[i] = ids.get(i).asInt();
                }
                out.add(new TokenFixture(d.get("index").asInt(), d.get("language").asText(), d.get("maxTokens").asInt(), a));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The body of each document the fixture names, by index. */
    static java.util.Map<Integer, String> texts(List<TokenFixture> fixtures) {
        java.util.Set<Integer> wanted = new java.util.HashSet<>();
        fixtures.forEach(f -> wanted.add(f.index()));
        java.util.Map<Integer, String> texts = new java.util.HashMap<>();
        try (var docs = Europarl.documents()) {
            docs.filter(d -> wanted.contains(d.index())).forEach(d -> texts.put(d.index(), d.text()));
        }
        return texts;
    }

    @Override
    public String toString() {
        return "document " + index + " (" + language + ", " + ids.length + " tokens)";
    }
}
