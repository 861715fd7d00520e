// Writes the broker's ACLs in one JVM: Kafka's own AclCommand once per line of options read
// from standard input (prahari-kafka-acls prints one line per grant), instead of starting a
// JVM per grant (about two seconds each, for two dozen grants). The arguments are the options
// every line shares: the bootstrap server, the admin's client config, --add --force.
// Run by infra/kafka.sh with Java's single-file source launcher: nothing to compile first.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.tools.AclCommand;

public class AddAcls {
    public static void main(String[] shared) throws Exception {
        BufferedReader in =
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            List<String> options = new ArrayList<>(Arrays.asList(shared));
            options.addAll(Arrays.asList(line.trim().split("\\s+")));
            // AclCommand ends the JVM with status 1 when a grant fails, so a failure stops here.
            AclCommand.main(options.toArray(new String[0]));
        }
    }
}
