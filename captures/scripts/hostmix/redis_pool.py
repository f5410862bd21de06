# A busy redis-py pool: threads doing SET/GET/INCR/LRANGE at a steady rate; one extra "cache"
# connection now and then stores and reads back HTTP text (a cached request and response).
import os, random, sys, threading, time, redis
PIPE = int(os.environ.get("REDIS_PIPE", "1"))
pool = redis.ConnectionPool(host="127.0.0.1", port=6379, max_connections=6)
rate = float(sys.argv[1])
def worker(k):
    r = redis.Redis(connection_pool=pool)
    rnd = random.Random(k)
    val = ("v%d-" % k) * 120
    while True:
        t = time.time()
        key = "k:%d:%d" % (k, rnd.randrange(500))
        p = r.pipeline(transaction=False) if PIPE > 1 else r
        for _ in range(PIPE):
            key = "k:%d:%d" % (k, rnd.randrange(500))
            op = rnd.random()
            if op < 0.4: p.set(key, val)
            elif op < 0.8: p.get(key)
            elif op < 0.9: p.incr("ctr:%d" % k)
            else: p.lrange("list", 0, 20)
        if PIPE > 1: p.execute()
        time.sleep(max(0, 1 / rate - (time.time() - t)))
def cache():
    r = redis.Redis(host="127.0.0.1", port=6379)
    while True:
        r.set("cached-request", "GET /api/v1/order HTTP/1.1\r\nHost: shop\r\n\r\n")
        r.set("cached-response", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"code\":\"0\"}\n")
        for _ in range(20):
            r.get("cached-request"); r.get("cached-response"); r.get("k:0:1")
            time.sleep(0.05)
r0 = redis.Redis(host="127.0.0.1", port=6379)
r0.rpush("list", *range(30))
for k in range(6):
    threading.Thread(target=worker, args=(k,), daemon=True).start()
threading.Thread(target=cache, daemon=True).start()
while True: time.sleep(60)
