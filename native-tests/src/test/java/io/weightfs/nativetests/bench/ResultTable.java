package io.weightfs.nativetests.bench;

import java.util.ArrayList;
import java.util.List;

/** The markdown table the benchmark prints: one row per figure, with its peer, the ratio and the goal. */
final class ResultTable {
    /**
     * @param part the numbered part
     * @param what the measurement
     * @param weightfs weightfs's figure
     * @param peer the peer's figure, measured in the same run
     * @param ratio how the two compare, spelled out ("0.83x of curl", "14x lower")
     * @param goal the goal, and whether it was met
     */
    record Row(String part, String what, String weightfs, String peer, String ratio, String goal) {}

    private final List<Row> rows = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();

    synchronized void add(String part, String what, String weightfs, String peer, String ratio, String goal) {
        rows.add(new Row(part, what, weightfs, peer, ratio, goal));
        System.err.println("[bench] RESULT " + part + " | " + what + " | " + weightfs + " | " + peer + " | " + ratio + " | " + goal);
    }

    synchronized void note(String text) {
        notes.add(text);
        System.err.println("[bench] NOTE " + text);
    }

    synchronized String markdown() {
        StringBuilder b = new StringBuilder();
        b.append("| part | measurement | weightfs | peer (same run) | ratio | goal |\n");
        b.append("|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            b.append("| ").append(cell(r.part())).append(" | ").append(cell(r.what())).append(" | ").append(cell(r.weightfs()))
                    .append(" | ").append(cell(r.peer())).append(" | ").append(cell(r.ratio())).append(" | ").append(cell(r.goal()))
                    .append(" |\n");
        }
        if (!notes.isEmpty()) {
            b.append('\n');
            for (String n : notes) {
                b.append("- ").append(n).append('\n');
            }
        }
        return b.toString();
    }

    private static String cell(String s) {
        return s == null ? "" : s.replace("|", "\\|").replace("\n", " ");
    }
}
