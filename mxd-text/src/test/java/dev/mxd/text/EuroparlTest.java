package dev.mxd.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class EuroparlTest {

    @Test
    void everyLineIsADocumentNumberedFromZero() {
        List<Europarl.Document> firstAndLast;
        long count;
        try (var docs = Europarl.documents()) {
            count = docs.count();
        }
        assertEquals(Europarl.DOCUMENTS, count);
        try (var docs = Europarl.documents()) {
            firstAndLast = docs.filter(d -> d.index() == 0 || d.index() == 800 || d.index() == 10364
                    || d.index() == Europarl.DOCUMENTS - 1).toList();
        }
        assertEquals(4, firstAndLast.size());
        assertTrue(firstAndLast.get(0).text().startsWith("Istituzioni europee proteggerlo in tutti i campi."),
                firstAndLast.get(0).text());
        assertTrue(firstAndLast.get(1).text().startsWith("situation. The ultimate aim is a better enforcement of EU"),
                firstAndLast.get(1).text());
        assertEquals(".", firstAndLast.get(2).text());
        assertEquals(Europarl.DOCUMENTS - 1, firstAndLast.get(3).index());
    }

    @Test
    void theBodyIsTheThirdField() {
        assertEquals("body", Europarl.body("title\tdate\tbody"));
        assertEquals("body", Europarl.body("title\tdate\tbody\textra"));
        assertEquals("", Europarl.body("title\tdate"));
        assertEquals("", Europarl.body("no tabs"));
    }
}
