// A RabbitMQ consumer in Java (the RabbitMQ Java client, Debian's librabbitmq-client-java) for
// the polyglot fixtures (polyglot_consumers.py); same SPEC arguments and JSON as consumer.go
// (run, confirm, cancel, drop). One channel per spec, one DefaultConsumer each: the client
// dispatches a channel's deliveries one at a time (one worker per channel).
//
// usage: java Consumer PORT OUT.json SPEC...
import com.rabbitmq.client.*;

import java.io.FileWriter;
import java.io.IOException;
import java.net.Socket;
import java.time.Instant;
import java.util.*;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class Consumer {
    static final List<String> records = Collections.synchronizedList(new ArrayList<>());
    static final List<String> unanswered = Collections.synchronizedList(new ArrayList<>());
    static final Map<String, Object> notes = Collections.synchronizedMap(new TreeMap<>());
    static final Pattern SLEEP = Pattern.compile("\"sleep_ms\": *(\\d+)");
    static final Pattern ANSWER = Pattern.compile("\"answer\": *\"(\\w+)\"");

    static double now() {
        Instant n = Instant.now();
        return n.getEpochSecond() + n.getNano() / 1e9;
    }

    static String field(Pattern p, String body) {
        Matcher m = p.matcher(body);
        if (!m.find()) throw new IllegalArgumentException(body);
        return m.group(1);
    }

    /** Sleeps as the body says, records, answers; returns the answer sent. */
    static String work(Channel ch, String queue, Envelope env, byte[] body) throws Exception {
        String text = new String(body, "UTF-8");
        int sleepMs = Integer.parseInt(field(SLEEP, text));
        String answer = field(ANSWER, text);
        if (env.isRedeliver() && answer.endsWith("_requeue")) answer = "ack";
        double start = now();
        Thread.sleep(sleepMs);
        double end = now();
        int code = answer.equals("ack") ? 0 : 1;
        records.add(String.format(Locale.ROOT,
            "{\"queue\": \"%s\", \"delivery_tag\": %d, \"code\": %d, \"start\": %.6f, \"end\": %.6f, "
                + "\"duration_ms\": %.3f, \"answer\": \"%s\", \"redelivered\": %b, \"channel\": %d}",
            queue, env.getDeliveryTag(), code, start, end, (end - start) * 1000, answer, env.isRedeliver(),
            ch.getChannelNumber()));
        long tag = env.getDeliveryTag();
        switch (answer) {
            case "ack": ch.basicAck(tag, false); break;
            case "nack": ch.basicNack(tag, false, false); break;
            case "nack_requeue": ch.basicNack(tag, false, true); break;
            case "reject": ch.basicReject(tag, false); break;
            case "reject_requeue": ch.basicReject(tag, true); break;
            default: throw new IllegalArgumentException(answer);
        }
        return answer;
    }

    static Socket dropSocket;

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        String out = args[1];
        ConnectionFactory factory = new ConnectionFactory();
        factory.setHost("127.0.0.1");
        factory.setPort(port);
        factory.setRequestedHeartbeat(1);
        factory.setAutomaticRecoveryEnabled(false);
        Connection conn = factory.newConnection();
        List<CountDownLatch> latches = new ArrayList<>();
        for (int i = 2; i < args.length; i++) {
            String[] f = args[i].split(":");
            String queue = f[0];
            int prefetch = Integer.parseInt(f[1]);
            String mode = f[2];
            int n = Integer.parseInt(f[3]);
            CountDownLatch done = new CountDownLatch(1);
            latches.add(done);
            if (mode.equals("drop")) {
                ConnectionFactory own = new ConnectionFactory();
                own.setHost("127.0.0.1");
                own.setPort(port);
                own.setAutomaticRecoveryEnabled(false);
                own.setSocketConfigurator(s -> { s.setTcpNoDelay(true); dropSocket = s; });
                Connection dc = own.newConnection();
                Channel ch = dc.createChannel();
                ch.basicQos(prefetch);
                int[] answered = {0};
                ch.basicConsume(queue, false, "java-" + queue, new DefaultConsumer(ch) {
                    @Override
                    public void handleDelivery(String tag, Envelope env, AMQP.BasicProperties p, byte[] body) {
                        try {
                            if (answered[0] < n) {
                                work(ch, queue, env, body);
                                if (++answered[0] == n) {
                                    Thread.sleep(100);
                                    notes.put(queue + "_socket_closed", true);
                                    dropSocket.close();
                                    done.countDown();
                                }
                            } else {
                                unanswered.add(String.format("{\"queue\": \"%s\", \"delivery_tag\": %d, \"why\": \"buffered when the TCP connection was closed\"}", queue, env.getDeliveryTag()));
                            }
                        } catch (Exception e) { e.printStackTrace(); }
                    }
                });
                continue;
            }
            Channel ch = conn.createChannel();
            ch.basicQos(prefetch);
            if (mode.equals("confirm")) ch.confirmSelect();
            int[] answered = {0};
            int[] afterCancel = {0};
            String consumerTag = "java-" + queue;
            ch.basicConsume(queue, false, consumerTag, new DefaultConsumer(ch) {
                @Override
                public void handleDelivery(String tag, Envelope env, AMQP.BasicProperties p, byte[] body) {
                    try {
                        work(ch, queue, env, body);
                        answered[0]++;
                        if (mode.equals("confirm")) {
                            ch.basicPublish("", queue + "-results", null, body);
                            ch.waitForConfirmsOrDie(5000);
                        }
                        if (mode.equals("cancel")) {
                            if (answered[0] == n) ch.basicCancel(consumerTag);
                            else if (answered[0] > n) afterCancel[0]++;
                        } else if (answered[0] == n) {
                            done.countDown();
                        }
                    } catch (Exception e) { e.printStackTrace(); }
                }

                @Override
                public void handleCancelOk(String tag) {
                    // Dispatched after every delivery the client received before the cancel-ok.
                    notes.put(queue + "_after_cancel", afterCancel[0]);
                    done.countDown();
                }
            });
        }
        for (CountDownLatch l : latches) {
            if (!l.await(90, TimeUnit.SECONDS)) throw new IllegalStateException("timed out");
        }
        conn.close();
        try (FileWriter w = new FileWriter(out)) {
            StringBuilder n = new StringBuilder();
            for (Map.Entry<String, Object> e : notes.entrySet()) {
                if (n.length() > 0) n.append(", ");
                n.append('"').append(e.getKey()).append("\": ").append(e.getValue());
            }
            w.write("{\"records\": [" + String.join(",\n", records) + "],\n\"unanswered\": ["
                + String.join(",\n", unanswered) + "],\n\"notes\": {" + n + "}}\n");
        }
        System.out.println("java: " + records.size() + " records, " + unanswered.size() + " unanswered");
        System.exit(0);
    }
}
