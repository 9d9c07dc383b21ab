// A cache that never evicts, run with a small heap (-Xmx32m): java.lang.OutOfMemoryError.
import java.util.ArrayList;
import java.util.List;

public class HeapHog {
    // REBUILD-PADDING

    static final List<byte[]> cache = new ArrayList<>();

    static void remember(int key) {
        cache.add(new byte[1 << 20]);
    }

    public static void main(String[] args) {
        System.out.println("cache: warming");
        for (int key = 0; ; key++) {
            remember(key);
        }
    }
}
