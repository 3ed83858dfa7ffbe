// cxx_threads.cpp: C++ threads on the kernel's pthreads: std::thread, mutex, condition_variable, async, future, thread_local, chrono.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <queue>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test.h"

using namespace std::chrono_literals;

// A thread_local with a constructor and a destructor: one per thread.
static std::atomic<int> tls_constructed{0}, tls_destroyed{0};
struct PerThread {
	PerThread() { tls_constructed++; }
	~PerThread() { tls_destroyed++; }
	int uses = 0;
};
static thread_local PerThread per_thread;

static void threads_and_mutex()
{
	std::mutex mutex;
	long counter = 0;
	std::vector<std::thread> workers;
	for (int t = 0; t < 8; t++)
		workers.emplace_back([&] {
			per_thread.uses++;
			for (int i = 0; i < 10000; i++) {
				std::lock_guard<std::mutex> lock(mutex);
				counter++;
			}
		});
	for (auto &w : workers)
		w.join();
	CHECK_INT(counter, 80000);
	CHECK_INT(tls_constructed.load(), 8);
	CHECK_INT(tls_destroyed.load(), 8);
	std::thread::id main_id = std::this_thread::get_id(), other_id;
	std::thread([&] { other_id = std::this_thread::get_id(); }).join();
	CHECK(main_id != other_id);
}

// Producer and consumer on a condition variable, with a timed wait that must time out.
static void condition_variable()
{
	std::mutex mutex;
	std::condition_variable ready;
	std::queue<int> queue;
	bool finished = false;
	long consumed = 0;
	std::thread consumer([&] {
		std::unique_lock<std::mutex> lock(mutex);
		for (;;) {
			ready.wait(lock, [&] { return !queue.empty() || finished; });
			while (!queue.empty()) {
				consumed += queue.front();
				queue.pop();
			}
			if (finished)
				return;
		}
	});
	for (int i = 1; i <= 1000; i++) {
		std::lock_guard<std::mutex> lock(mutex);
		queue.push(i);
		ready.notify_one();
	}
	{
		std::lock_guard<std::mutex> lock(mutex);
		finished = true;
	}
	ready.notify_all();
	consumer.join();
	CHECK_INT(consumed, 500500);

	std::unique_lock<std::mutex> lock(mutex);
	auto start = std::chrono::steady_clock::now();
	bool timed_out = ready.wait_for(lock, 30ms) == std::cv_status::timeout;
	auto waited = std::chrono::steady_clock::now() - start;
	CHECK(timed_out);
	CHECK(waited >= 29ms && waited < 1s);
}

static int square_or_throw(int x)
{
	if (x < 0)
		throw std::domain_error("negative");
	return x * x;
}

static void async_and_futures()
{
	std::vector<std::future<int>> results;
	for (int i = 0; i < 6; i++)
		results.push_back(std::async(std::launch::async, square_or_throw, i));
	int sum = 0;
	for (auto &r : results)
		sum += r.get();
	CHECK_INT(sum, 55);
	auto deferred = std::async(std::launch::deferred, [] { return std::this_thread::get_id(); });
	CHECK(deferred.get() == std::this_thread::get_id());
	// An exception thrown in another thread reaches get().
	auto failing = std::async(std::launch::async, square_or_throw, -1);
	bool propagated = false;
	try {
		failing.get();
	} catch (const std::domain_error &e) {
		propagated = std::string(e.what()) == "negative";
	}
	CHECK(propagated);
	std::promise<std::string> promise;
	std::future<std::string> future = promise.get_future();
	std::thread setter([&] { promise.set_value("kept"); });
	std::string kept = future.get();
	CHECK_STR(kept.c_str(), "kept");
	setter.join();
}

static void once_atomic_shared_mutex()
{
	std::once_flag flag;
	std::atomic<int> once_calls{0}, increments{0};
	std::shared_mutex rw;
	int shared_value = 0;
	std::vector<std::thread> threads;
	for (int t = 0; t < 4; t++)
		threads.emplace_back([&] {
			std::call_once(flag, [&] { once_calls++; });
			for (int i = 0; i < 1000; i++) {
				increments.fetch_add(1, std::memory_order_relaxed);
				if (i % 10 == 0) {
					std::unique_lock<std::shared_mutex> write(rw);
					shared_value++;
				} else {
					std::shared_lock<std::shared_mutex> read(rw);
					(void)shared_value;
				}
			}
		});
	for (auto &t : threads)
		t.join();
	CHECK_INT(once_calls.load(), 1);
	CHECK_INT(increments.load(), 4000);
	CHECK_INT(shared_value, 400);
}

static void chrono_clocks()
{
	auto steady = std::chrono::steady_clock::now();
	auto system = std::chrono::system_clock::now();
	std::this_thread::sleep_for(25ms);
	auto slept = std::chrono::steady_clock::now() - steady;
	CHECK(slept >= 25ms && slept < 1s);
	CHECK(std::chrono::system_clock::now() > system);
	// The wall clock is the host's: after 2020.
	CHECK(std::chrono::system_clock::to_time_t(system) > 1577836800);
	std::this_thread::yield();
}

int main()
{
	const char *cpus = std::getenv("HERMIT_CPUS");
	CHECK_INT(std::thread::hardware_concurrency(), cpus ? std::atoi(cpus) : 1);
	threads_and_mutex();
	condition_variable();
	async_and_futures();
	once_atomic_shared_mutex();
	chrono_clocks();
	std::printf("cxx_threads: hardware_concurrency %u\n", std::thread::hardware_concurrency());
	TEST_DONE();
}
