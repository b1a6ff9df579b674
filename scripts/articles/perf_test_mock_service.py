"""The first article's threaded performance test, as published (requests + threading + queue),
pointed at mock-server. Run against `mock-server --bind 127.0.0.1:5000 --delay 200ms`:

    python3 scripts/articles/perf_test_mock_service.py [URL] [USERS] [LOOPS] [TEST_TIME_S]
"""
import queue
import sys
import threading
import time

import requests

URL = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000/json"
queue_results = queue.Queue()
event_time_up = threading.Event()
start_time = 0


def test_mock_service():
    resp = requests.get(URL)
    if resp.status_code != 200:
        return "fail", resp.elapsed.total_seconds()
    if resp.json()["code"] != 1:
        return "fail", resp.elapsed.total_seconds()
    return "pass", resp.elapsed.total_seconds()


def loop_test(loop_wait=0, loop_times=sys.maxsize):
    looped_times = 0
    while looped_times < loop_times and not event_time_up.is_set():
        try:
            result, elapsed = test_mock_service()
        except Exception:
            result, elapsed = "exception", 0
        queue_results.put(["test_mock_service", result, elapsed])
        looped_times += 1
        time.sleep(loop_wait)


def stats():
    results = []
    while not queue_results.empty():
        results.append(queue_results.get_nowait())
    passed = [r[2] for r in results if r[1] == "pass"]
    tested_time = time.time() - start_time
    print("\n-----Test Statistics-----")
    print(time.asctime())
    print("Total requests: %s, pass: %s, fail: %s, exception: %s" % (
        len(results), len(passed),
        sum(1 for r in results if r[1] == "fail"),
        sum(1 for r in results if r[1] == "exception")))
    if passed:
        print("For pass requests:")
        print("Request per Second - mean: %.2f" % (len(passed) / tested_time))
        print("Time per Request - mean: %.6f, min: %.6f, max: %.6f" % (
            sum(passed) / len(passed), min(passed), max(passed)))


if __name__ == "__main__":
    concurrent_users = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    loop_times = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    test_time = float(sys.argv[4]) if len(sys.argv) > 4 else 5
    # The functional test first: status 200 and code == 1.
    resp = requests.get(URL)
    assert resp.status_code == 200 and resp.json()["code"] == 1, resp.text
    print("functional test passed:", resp.text)
    start_time = time.time()
    workers = [threading.Thread(target=loop_test, kwargs={"loop_times": loop_times}, daemon=True)
               for _ in range(concurrent_users)]
    for w in workers:
        w.start()
    timer = threading.Timer(test_time, event_time_up.set)
    timer.start()
    for w in workers:
        w.join()
    timer.cancel()
    stats()
