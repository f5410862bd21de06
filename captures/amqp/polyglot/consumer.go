// A RabbitMQ consumer in Go (github.com/rabbitmq/amqp091-go, Debian's
// golang-github-rabbitmq-amqp091-go-dev) for the polyglot fixtures
// (polyglot_consumers.py). Each message body says how long the worker sleeps
// and how it answers; the worker records its own start and end (end = just
// before the answer is sent) as consumers.py does.
//
// usage: consumer PORT OUT.json SPEC...
// SPEC is QUEUE:PREFETCH:MODE[:ARG...], one channel each on one connection,
// one worker (goroutine) per channel, except `drop`, on a connection of its own:
//   run:N       answer N messages, then close the channel
//   confirm:N   as run, in confirm mode: after each answer publish a result on the
//               consuming channel and wait for the broker's confirm
//   cancel:K    answer K messages, basic.cancel, answer every delivery the
//               library still hands over, then close the channel
//   drop:K      answer K messages, then close the TCP socket (no connection.close)
//   batch:B:N   B workers handle B messages together; one ack/nack with multiple=true
//   every:B:N   one worker handles each message alone and acks every B-th with
//               multiple=true (the others wait unanswered): each record ends at its own end
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

type plan struct {
	SleepMs int    `json:"sleep_ms"`
	Answer  string `json:"answer"`
	Seq     int    `json:"seq"`
}

type record struct {
	Queue       string  `json:"queue"`
	DeliveryTag uint64  `json:"delivery_tag"`
	Code        int     `json:"code"`
	Start       float64 `json:"start"`
	End         float64 `json:"end"`
	DurationMs  float64 `json:"duration_ms"`
	Answer      string  `json:"answer"`
	Redelivered bool    `json:"redelivered"`
	Channel     uint16  `json:"channel"`
}

var (
	mu         sync.Mutex
	records    []record
	unanswered []map[string]interface{}
	notes      = map[string]interface{}{}
)

func now() float64 { return float64(time.Now().UnixNano()) / 1e9 }

func note(k string, v interface{}) { mu.Lock(); notes[k] = v; mu.Unlock() }

func add(r record) {
	r.DurationMs = (r.End - r.Start) * 1000
	mu.Lock()
	records = append(records, r)
	mu.Unlock()
}

// effective answer: a requeued message comes back redelivered and is then acked.
func effective(p plan, redelivered bool) string {
	if redelivered && strings.HasSuffix(p.Answer, "_requeue") {
		return "ack"
	}
	return p.Answer
}

func send(d amqp.Delivery, answer string, multiple bool) (int, error) {
	switch answer {
	case "ack":
		return 0, d.Ack(multiple)
	case "nack":
		return 1, d.Nack(multiple, false)
	case "nack_requeue":
		return 1, d.Nack(multiple, true)
	case "reject":
		return 1, d.Reject(false)
	case "reject_requeue":
		return 1, d.Reject(true)
	}
	panic(answer)
}

// work handles one delivery: sleep, record, answer.
func work(ch *amqp.Channel, chNo uint16, queue string, d amqp.Delivery) {
	var p plan
	if err := json.Unmarshal(d.Body, &p); err != nil {
		panic(err)
	}
	answer := effective(p, d.Redelivered)
	start := now()
	time.Sleep(time.Duration(p.SleepMs) * time.Millisecond)
	end := now()
	code := 0
	if answer != "ack" {
		code = 1
	}
	add(record{queue, d.DeliveryTag, code, start, end, 0, answer, d.Redelivered, chNo})
	if _, err := send(d, answer, false); err != nil {
		panic(err)
	}
}

type spec struct {
	queue    string
	prefetch int
	mode     string
	args     []int
}

func parse(s string) spec {
	f := strings.Split(s, ":")
	p, _ := strconv.Atoi(f[1])
	sp := spec{queue: f[0], prefetch: p, mode: f[2]}
	for _, a := range f[3:] {
		n, _ := strconv.Atoi(a)
		sp.args = append(sp.args, n)
	}
	return sp
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func consume(conn *amqp.Connection, sp spec, chNo uint16) {
	ch, err := conn.Channel()
	must(err)
	must(ch.Qos(sp.prefetch, 0, false))
	tag := "go-" + sp.queue
	deliveries, err := ch.Consume(sp.queue, tag, false, false, false, false, nil)
	must(err)
	switch sp.mode {
	case "run":
		for i := 0; i < sp.args[0]; i++ {
			work(ch, chNo, sp.queue, <-deliveries)
		}
	case "confirm":
		must(ch.Confirm(false))
		confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 1))
		for i := 0; i < sp.args[0]; i++ {
			d := <-deliveries
			work(ch, chNo, sp.queue, d)
			must(ch.Publish("", sp.queue+"-results", false, false, amqp.Publishing{Body: d.Body}))
			if c := <-confirms; !c.Ack {
				panic("nacked")
			}
		}
		note(sp.queue+"_confirmed", sp.args[0])
	case "cancel":
		for i := 0; i < sp.args[0]; i++ {
			work(ch, chNo, sp.queue, <-deliveries)
		}
		must(ch.Cancel(tag, false))
		// amqp091-go keeps handing over what it buffered before the cancel-ok: the worker answers all.
		n := 0
		for d := range deliveries {
			work(ch, chNo, sp.queue, d)
			n++
		}
		note(sp.queue+"_after_cancel", n)
	case "every":
		b, total := sp.args[0], sp.args[1]
		for i := 1; i <= total; i++ {
			d := <-deliveries
			var p plan
			must(json.Unmarshal(d.Body, &p))
			start := now()
			time.Sleep(time.Duration(p.SleepMs) * time.Millisecond)
			add(record{sp.queue, d.DeliveryTag, 0, start, now(), 0, "ack_multiple", d.Redelivered, chNo})
			if i%b == 0 || i == total {
				must(d.Ack(true))
			}
		}
	case "batch":
		b, total := sp.args[0], sp.args[1]
		for done := 0; done < total; done += b {
			batch := make([]amqp.Delivery, b)
			for i := range batch {
				batch[i] = <-deliveries
			}
			var wg sync.WaitGroup
			var ends [16]float64
			var starts [16]float64
			var plans [16]plan
			for i := range batch {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					must(json.Unmarshal(batch[i].Body, &plans[i]))
					starts[i] = now()
					time.Sleep(time.Duration(plans[i].SleepMs) * time.Millisecond)
				}(i)
			}
			wg.Wait()
			// The batch ends when its last worker ends; the answer of the batch is its last message's.
			end := now()
			answer := plans[b-1].Answer
			code := 0
			if answer != "ack" {
				code = 1
			}
			for i := range batch {
				ends[i] = end
				add(record{sp.queue, batch[i].DeliveryTag, code, starts[i], ends[i], 0, answer + "_multiple", batch[i].Redelivered, chNo})
			}
			_, err := send(batch[b-1], answer, true)
			must(err)
		}
	}
	must(ch.Close())
}

func main() {
	port, out := os.Args[1], os.Args[2]
	url := "amqp://guest:guest@127.0.0.1:" + port + "/"
	conn, err := amqp.DialConfig(url, amqp.Config{Heartbeat: time.Second, Locale: "en_US"})
	must(err)
	var wg sync.WaitGroup
	chNo := uint16(0)
	for _, s := range os.Args[3:] {
		sp := parse(s)
		if sp.mode == "drop" {
			wg.Add(1)
			go func() { defer wg.Done(); dropper(url, sp) }()
			continue
		}
		chNo++
		wg.Add(1)
		go func(sp spec, n uint16) { defer wg.Done(); consume(conn, sp, n) }(sp, chNo)
	}
	wg.Wait()
	must(conn.Close())
	mu.Lock()
	defer mu.Unlock()
	b, _ := json.MarshalIndent(map[string]interface{}{"records": records, "unanswered": unanswered, "notes": notes}, "", " ")
	must(os.WriteFile(out, b, 0o644))
	fmt.Printf("go: %d records, %d unanswered\n", len(records), len(unanswered))
}

// dropper answers K messages on a connection of its own, then closes its TCP socket.
func dropper(url string, sp spec) {
	var sock net.Conn
	conn, err := amqp.DialConfig(url, amqp.Config{
		Heartbeat: 10 * time.Second, Locale: "en_US",
		Dial: func(network, addr string) (net.Conn, error) {
			c, err := net.Dial(network, addr)
			sock = c
			return c, err
		},
	})
	must(err)
	ch, err := conn.Channel()
	must(err)
	must(ch.Qos(sp.prefetch, 0, false))
	deliveries, err := ch.Consume(sp.queue, "go-"+sp.queue, false, false, false, false, nil)
	must(err)
	for i := 0; i < sp.args[0]; i++ {
		work(ch, 1, sp.queue, <-deliveries)
	}
	time.Sleep(100 * time.Millisecond) // the last answer on the wire before the socket goes
	held := 0
	for {
		select {
		case d := <-deliveries:
			mu.Lock()
			unanswered = append(unanswered, map[string]interface{}{"queue": sp.queue, "delivery_tag": d.DeliveryTag,
				"why": "buffered when the TCP connection was closed"})
			mu.Unlock()
			held++
			continue
		default:
		}
		break
	}
	note(sp.queue+"_held_at_drop", held)
	sock.Close()
}
