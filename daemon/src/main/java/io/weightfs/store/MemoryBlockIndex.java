package io.weightfs.store;

import io.weightfs.manifest.ContentHash;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** An index that lives in memory only: for tests of everything above the store. */
final class MemoryBlockIndex implements BlockIndex {
    private final Map<String, Integer> blocks = new ConcurrentHashMap<>();
    private final Set<ContentHash> verified = ConcurrentHashMap.newKeySet();

    private static String key(ContentHash h, int block) {
        return h + "#" + block;
    }

    @Override
    public Map<Integer, Integer> presentBlocks(ContentHash blob, int blockCount) {
        Map<Integer, Integer> out = new HashMap<>();
        for (int b = 0; b < blockCount; b++) {
            Integer crc = blocks.get(key(blob, b));
            if (crc != null) {
                out.put(b, crc);
            }
        }
        return out;
    }

    @Override
    public void putBlocks(ContentHash blob, Map<Integer, Integer> crcs) {
        crcs.forEach((b, crc) -> blocks.put(key(blob, b), crc));
    }

    @Override
    public void removeBlock(ContentHash blob, int block) {
        blocks.remove(key(blob, block));
    }

    @Override
    public void removeBlob(ContentHash blob, int blockCount) {
        verified.remove(blob);
        for (int b = 0; b < blockCount; b++) {
            blocks.remove(key(blob, b));
        }
    }

    private final Map<String, long[]> claims = new ConcurrentHashMap<>();

    @Override
    public java.util.OptionalInt presentBlock(ContentHash blob, int block) {
        Integer crc = blocks.get(key(blob, block));
        return crc == null ? java.util.OptionalInt.empty() : java.util.OptionalInt.of(crc);
    }

    @Override
    public boolean claim(ContentHash blob, int block, long owner, long now, long staleAfterMillis) {
        long[] mine = {owner, now};
        long[] won = claims.compute(key(blob, block), (k, old) ->
                old == null || old[0] == owner || now - old[1] > staleAfterMillis ? mine : old);
        return won == mine;
    }

    @Override
    public void refreshClaim(ContentHash blob, int block, long owner, long now) {
        claims.computeIfPresent(key(blob, block), (k, old) -> old[0] == owner ? new long[] {owner, now} : old);
    }

    @Override
    public void releaseClaim(ContentHash blob, int block, long owner) {
        claims.computeIfPresent(key(blob, block), (k, old) -> old[0] == owner ? null : old);
    }

    @Override
    public boolean isVerified(ContentHash blob) {
        return verified.contains(blob);
    }

    @Override
    public void markVerified(ContentHash blob) {
        verified.add(blob);
    }

    @Override
    public void close() {}
}
