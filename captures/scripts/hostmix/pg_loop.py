# Two persistent psycopg2 connections querying at a steady rate.
import sys, threading, time, psycopg2
rate = float(sys.argv[1])
def worker(k):
    c = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    c.autocommit = True
    cur = c.cursor()
    while True:
        t = time.time()
        cur.execute("select g, md5(g::text) from generate_series(1, %s) g", (10 + k * 10,))
        cur.fetchall()
        cur.execute("select now(), %s", ("GET /x HTTP/1.1",))
        cur.fetchall()
        time.sleep(max(0, 1 / rate - (time.time() - t)))
for k in range(2):
    threading.Thread(target=worker, args=(k,), daemon=True).start()
while True: time.sleep(60)
