"""The second article's Locust test (register, token via form, POST cities, GET cities/{id}),
pointed at mock-server. One fix: the article compared the *create* response's name after the GET
(`response_dict` was never refreshed), so it could not see a leak in the read; here the read's own
body is checked. Run headless against `mock-server --bind 127.0.0.1:8020`:

    locust -f scripts/articles/locustfile.py --headless -u 20 -r 20 -t 20s --host http://127.0.0.1:8020
"""
import random
import time

from locust import HttpUser, task
from locust.exception import RescheduleTask


def unique_str():
    return "{:.10f}.{}".format(time.time(), random.randint(1000, 9999))


class WebsiteTestUser(HttpUser):
    network_timeout = 30.0
    connection_timeout = 30.0

    def on_start(self):
        email = "e." + unique_str() + "@my-local-test.test"
        password = "abcdefghi"
        response = self.client.post("/api/v1/auth/register", json={"email": email, "password": password})
        if response.status_code != 201:
            raise RuntimeError("register: %s" % response.status_code)
        response = self.client.post("/api/v1/auth/token", data={"username": email, "password": password})
        self.headers = {"Authorization": "Bearer " + response.json()["access_token"]}

    @task
    def cities_write_read_check(self):
        city_name = "c." + unique_str()
        with self.client.post("/api/v1/cities", json={"name": city_name}, headers=self.headers,
                              catch_response=True) as response:
            if response.status_code != 201 or "data" not in response.json():
                response.failure("cities_create: %s" % response.status_code)
                raise RescheduleTask()
            city_id = response.json()["data"]["id"]
        with self.client.get("/api/v1/cities/" + city_id, headers=self.headers,
                             name="/api/v1/cities/uuid", catch_response=True) as response:
            if response.status_code != 200:
                response.failure("cities_get_by_id: %s" % response.status_code)
                raise RescheduleTask()
            returned = response.json()["data"]["name"]
            if returned != city_name:
                response.failure("cities_get_by_id: %s != %s" % (returned, city_name))
