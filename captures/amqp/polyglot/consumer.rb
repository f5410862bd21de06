# A RabbitMQ consumer in Ruby (Bunny, Debian's ruby-bunny) for the polyglot fixtures
# (polyglot_consumers.py); same SPEC arguments and JSON as consumer.go (run, confirm, cancel,
# drop). One channel per spec, each with a consumer work pool of one thread (one worker per
# channel); `drop` runs in a forked process with a connection of its own (writes OUT.json.drop).
#
# usage: ruby consumer.rb PORT OUT.json SPEC...
require "bunny"
require "json"

PORT = ARGV[0].to_i
OUT = ARGV[1]
$records = []
$unanswered = []
$notes = {}
$lock = Mutex.new

def now = Process.clock_gettime(Process::CLOCK_REALTIME)

# Sleeps as the body says, records, answers.
def work(ch, queue, info, body)
  plan = JSON.parse(body)
  answer = plan["answer"]
  answer = "ack" if info.redelivered? && answer.end_with?("_requeue")
  start = now
  sleep(plan["sleep_ms"] / 1000.0)
  finish = now
  $lock.synchronize do
    $records << { queue: queue, delivery_tag: info.delivery_tag.to_i, code: answer == "ack" ? 0 : 1, start: start,
                  end: finish, duration_ms: (finish - start) * 1000, answer: answer,
                  redelivered: info.redelivered?, channel: ch.id }
  end
  tag = info.delivery_tag
  case answer
  when "ack" then ch.ack(tag)
  when "nack" then ch.nack(tag, false, false)
  when "nack_requeue" then ch.nack(tag, false, true)
  when "reject" then ch.reject(tag, false)
  when "reject_requeue" then ch.reject(tag, true)
  else raise answer
  end
end

def write(path)
  File.write(path, JSON.pretty_generate(records: $records, unanswered: $unanswered, notes: $notes))
end

specs = ARGV[2..].map { |s| q, p, mode, k = s.split(":"); [q, p.to_i, mode, k.to_i] }

drop = specs.find { |s| s[2] == "drop" }
child = nil
if drop
  child = fork do
    q, prefetch, _, k = drop
    conn = Bunny.new(host: "127.0.0.1", port: PORT, automatically_recover: false, heartbeat: 10)
    conn.start
    ch = conn.create_channel
    ch.prefetch(prefetch)
    done = Queue.new
    n = 0
    ch.queue(q, no_declare: true).subscribe(manual_ack: true, consumer_tag: "ruby-#{q}") do |info, _, body|
      if n < k
        work(ch, q, info, body)
        n += 1
        done << true if n == k
      else
        $lock.synchronize { $unanswered << { queue: q, delivery_tag: info.delivery_tag.to_i, why: "buffered when the TCP connection was closed" } }
      end
    end
    done.pop
    sleep 0.1
    $notes["#{q}_socket_closed"] = true
    write("#{OUT}.drop")
    conn.transport.socket.close # no connection.close: the TCP connection just ends
    exit!(0)
  end
end

conn = Bunny.new(host: "127.0.0.1", port: PORT, automatically_recover: false, heartbeat: 1)
conn.start
waits = []
specs.each do |q, prefetch, mode, k|
  next if mode == "drop"
  ch = conn.create_channel(nil, 1)
  ch.prefetch(prefetch)
  ch.confirm_select if mode == "confirm"
  done = Queue.new
  n = 0
  consumer = ch.queue(q, no_declare: true).subscribe(manual_ack: true, consumer_tag: "ruby-#{q}") do |info, _, body|
    work(ch, q, info, body)
    n += 1
    if mode == "confirm"
      ch.default_exchange.publish(body, routing_key: "#{q}-results")
      ch.wait_for_confirms
    end
    done << true if n == k
  end
  waits << lambda do
    done.pop
    if mode == "cancel"
      # From this thread: Bunny's cancel shuts the channel's work pool down after what it holds.
      consumer.cancel
      ch.work_pool.join(30) # its thread ends after the deliveries it was handed before the cancel-ok
      $notes["#{q}_after_cancel"] = n - k
    end
    ch.close
  end
end
waits.map { |w| Thread.new { w.call } }.each(&:join)
conn.close
write(OUT)
Process.wait(child) if child
puts "ruby: #{$records.size} records"
