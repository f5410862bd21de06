<?php
// A RabbitMQ consumer in PHP (php-amqplib, Debian's php-amqplib) for the polyglot fixtures
// (polyglot_consumers.py); same SPEC arguments and JSON as consumer.go (run, confirm, cancel,
// drop). PHP runs one callback at a time per process: each spec runs in a process of its own
// (pcntl_fork) with a connection of its own (AMQPLAIN login, no heartbeat, server-generated
// consumer tags), writing OUT.json.N.
//
// usage: php consumer.php PORT OUT.json SPEC...
require_once '/usr/share/php/PhpAmqpLib/autoload.php';

use PhpAmqpLib\Connection\AMQPStreamConnection;
use PhpAmqpLib\Exception\AMQPTimeoutException;
use PhpAmqpLib\Message\AMQPMessage;

$records = [];
$notes = [];

function now(): float { return microtime(true); }

// Sleeps as the body says, records, answers.
function work($ch, string $queue, AMQPMessage $msg): void {
    global $records;
    $plan = json_decode($msg->getBody(), true);
    $answer = $plan['answer'];
    if ($msg->isRedelivered() && str_ends_with($answer, '_requeue')) $answer = 'ack';
    $start = now();
    usleep($plan['sleep_ms'] * 1000);
    $end = now();
    $records[] = ['queue' => $queue, 'delivery_tag' => $msg->getDeliveryTag(), 'code' => $answer === 'ack' ? 0 : 1,
                  'start' => $start, 'end' => $end, 'duration_ms' => ($end - $start) * 1000, 'answer' => $answer,
                  'redelivered' => (bool)$msg->isRedelivered(), 'channel' => $ch->getChannelId()];
    $tag = $msg->getDeliveryTag();
    switch ($answer) {
        case 'ack': $ch->basic_ack($tag); break;
        case 'nack': $ch->basic_nack($tag, false, false); break;
        case 'nack_requeue': $ch->basic_nack($tag, false, true); break;
        case 'reject': $ch->basic_reject($tag, false); break;
        case 'reject_requeue': $ch->basic_reject($tag, true); break;
        default: throw new Exception($answer);
    }
}

function run_spec(int $port, string $spec, string $path): void {
    global $records, $notes;
    [$queue, $prefetch, $mode, $k] = explode(':', $spec);
    $prefetch = (int)$prefetch; $k = (int)$k;
    $conn = new AMQPStreamConnection('127.0.0.1', $port, 'guest', 'guest');
    $ch = $conn->channel();
    $ch->basic_qos(0, $prefetch, false);
    if ($mode === 'confirm') $ch->confirm_select();
    $answered = 0;
    $after = 0;
    $callback = function (AMQPMessage $msg) use ($ch, $queue, $mode, &$answered, &$after, $k) {
        work($ch, $queue, $msg);
        $answered++;
        if ($answered > $k) $after++;
        if ($mode === 'confirm') {
            $ch->basic_publish(new AMQPMessage($msg->getBody()), '', "$queue-results");
            $ch->wait_for_pending_acks(5);
        }
    };
    $tag = $ch->basic_consume($queue, '', false, false, false, false, $callback);
    while ($answered < $k) $ch->wait(null, false, 20);
    if ($mode === 'drop') {
        usleep(100000);
        $notes["{$queue}_socket_closed"] = true;
        file_put_contents($path, json_encode(['records' => $records, 'notes' => $notes]));
        // No connection.close: the TCP connection just ends, and nothing runs after.
        stream_socket_shutdown($conn->getIO()->getSocket(), STREAM_SHUT_RDWR);
        posix_kill(posix_getpid(), SIGKILL);
    }
    if ($mode === 'cancel') {
        // php-amqplib forgets the consumer's callback at the cancel-ok: what it read meanwhile is
        // never handed over (it stays unanswered until the channel closes).
        $ch->basic_cancel($tag);
        try {
            while (true) $ch->wait(null, false, 1);
        } catch (AMQPTimeoutException $e) {
        }
        $notes["{$queue}_after_cancel"] = $after;
    }
    if ($mode === 'confirm') $notes["{$queue}_confirmed"] = $answered;
    $ch->close();
    $conn->close();
    file_put_contents($path, json_encode(['records' => $records, 'notes' => $notes]));
}

$port = (int)$argv[1];
$pids = [];
foreach (array_slice($argv, 3) as $i => $spec) {
    $pid = pcntl_fork();
    if ($pid === 0) {
        run_spec($port, $spec, "{$argv[2]}.$i");
        exit(0);
    }
    $pids[] = $pid;
}
$failed = 0;
foreach ($pids as $pid) {
    pcntl_waitpid($pid, $status);
    // The dropping process kills itself on purpose.
    if (!(pcntl_wifexited($status) && pcntl_wexitstatus($status) === 0) && !pcntl_wifsignaled($status)) $failed = 1;
}
exit($failed);
