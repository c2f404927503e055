package org.oretrail.graph;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;

/**
 * Starts Neo4j Community embedded with only the Bolt connector, bound to 127.0.0.1.
 *
 * <p>Usage: {@code Launcher <bolt-port> <data-directory>}. Prints one line
 * {@code oretrail-neo4j ready bolt://127.0.0.1:<port>} when the default database
 * answers, and shuts down cleanly on SIGTERM or SIGINT. Authentication is off:
 * the server listens on loopback only and serves development and CI.
 */
public final class Launcher {
    private Launcher() {}

    /** Page cache size in bytes from ORETRAIL_NEO4J_PAGECACHE (e.g. 512m, 2g); 512 MiB by default. */
    private static Long pageCache() {
        String text = System.getenv().getOrDefault("ORETRAIL_NEO4J_PAGECACHE", "512m").trim().toLowerCase();
        long unit = 1;
        if (text.endsWith("g")) {
            unit = 1024L * 1024 * 1024;
        } else if (text.endsWith("m")) {
            unit = 1024L * 1024;
        }
        String digits = unit == 1 ? text : text.substring(0, text.length() - 1);
        return Long.parseLong(digits) * unit;
    }

    public static void main(String[] args) throws InterruptedException {
        if (args.length != 2) {
            System.err.println("usage: Launcher <bolt-port> <data-directory>");
            System.exit(2);
        }
        int port;
        try {
            port = Integer.parseInt(args[0]);
        } catch (NumberFormatException e) {
            System.err.println("bolt port must be a number, not " + args[0]);
            System.exit(2);
            return;
        }
        Path home = Path.of(args[1]).toAbsolutePath();
        DatabaseManagementService service = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", port))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, false)
                .setConfig(GraphDatabaseSettings.transaction_timeout, Duration.ofSeconds(120))
                // No usage reports: these machines have no route out, and a dev server needs none.
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                .setConfig(GraphDatabaseSettings.pagecache_memory, pageCache())
                // Bolt otherwise waits twice five seconds on shutdown for connections that are gone.
                .setConfig(BoltConnectorInternalSettings.thread_pool_shutdown_wait_time, Duration.ofSeconds(1))
                .setConfig(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofSeconds(1))
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_timeout, Duration.ofSeconds(2))
                .build();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("oretrail-neo4j stopping");
            service.shutdown();
            System.out.println("oretrail-neo4j stopped");
            System.out.flush();
            stopped.countDown();
        }, "oretrail-neo4j-shutdown"));
        GraphDatabaseService db = service.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        db.executeTransactionally("RETURN 1");
        System.out.println("oretrail-neo4j ready bolt://127.0.0.1:" + port);
        System.out.flush();
        stopped.await();
    }
}
