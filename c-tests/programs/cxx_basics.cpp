// cxx_basics.cpp: C++17 with our libstdc++: iostream, strings, containers, exceptions across functions, global constructors and destructors.
#include <algorithm>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <iostream>
#include <list>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "test.h"

// Global objects: constructed before main in definition order, destroyed after it in reverse.
static std::vector<std::string> construction_log;

struct Global {
	explicit Global(const char *name) : name(name)
	{
		construction_log.push_back(name);
		const char *env = std::getenv("CXX_TEST_ENV");
		env_seen = env != nullptr && std::string(env) == "from the proxy";
	}
	~Global() { std::cout << "destructor of " << name << " ran" << std::endl; }
	std::string name;
	bool env_seen;
};
static Global first("first");
static Global second("second");

struct ParseError : std::runtime_error {
	ParseError(const std::string &what, int position) : std::runtime_error(what), position(position) {}
	int position;
};

static int parse_digit(const std::string &text, int position)
{
	char c = text.at(position); // std::out_of_range past the end
	if (c < '0' || c > '9')
		throw ParseError("not a digit: " + std::string(1, c), position);
	return c - '0';
}

static int sum_digits(const std::string &text, int count)
{
	int sum = 0;
	for (int i = 0; i < count; i++)
		sum += parse_digit(text, i);
	return sum;
}

static void exceptions()
{
	CHECK_INT(sum_digits("1234", 4), 10);
	int position = -1;
	try {
		sum_digits("12x4", 4);
	} catch (const ParseError &e) {
		position = e.position;
		CHECK_STR(e.what(), "not a digit: x");
	}
	CHECK_INT(position, 2);
	bool out_of_range = false;
	try {
		sum_digits("12", 5);
	} catch (const std::out_of_range &) {
		out_of_range = true;
	}
	CHECK(out_of_range);
	// Rethrow through a function and catch by base class; nested exceptions.
	std::string message;
	try {
		try {
			throw std::invalid_argument("inner");
		} catch (...) {
			std::throw_with_nested(std::runtime_error("outer"));
		}
	} catch (const std::exception &e) {
		message = e.what();
		try {
			std::rethrow_if_nested(e);
		} catch (const std::invalid_argument &inner) {
			message += std::string("/") + inner.what();
		}
	}
	CHECK_STR(message.c_str(), "outer/inner");
	bool caught_int = false;
	try {
		throw 42;
	} catch (int value) {
		caught_int = value == 42;
	}
	CHECK(caught_int);
}

static void strings_and_streams()
{
	std::ostringstream out;
	out << std::setw(6) << std::setfill('0') << 42 << ' ' << std::fixed << std::setprecision(3) << 3.14159
	    << ' ' << std::hex << 255 << ' ' << std::boolalpha << true;
	std::string formatted = out.str(); // CHECK_STR keeps a pointer: no temporaries
	CHECK_STR(formatted.c_str(), "000042 3.142 ff true");
	std::istringstream in("7 2.5 word");
	int i;
	double d;
	std::string w;
	in >> i >> d >> w;
	CHECK(i == 7 && d == 2.5 && w == "word");
	CHECK_INT(std::stoi("-123"), -123);
	CHECK_NEAR(std::stod("1e-3"), 0.001, 1e-15);
	std::string number = std::to_string(12345);
	CHECK_STR(number.c_str(), "12345");
	std::string s = "Hello, HermitCore";
	std::string_view view(s);
	CHECK(view.substr(7) == "HermitCore");
	CHECK(s.find("Hermit") == 7);
	std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
	CHECK_STR(s.c_str(), "HELLO, HERMITCORE");
}

static void containers()
{
	std::vector<int> v(1000);
	std::iota(v.begin(), v.end(), 0);
	std::reverse(v.begin(), v.end());
	std::sort(v.begin(), v.end());
	CHECK(std::is_sorted(v.begin(), v.end()) && v.front() == 0 && v.back() == 999);
	std::map<std::string, int> m{{"one", 1}, {"two", 2}, {"three", 3}};
	CHECK_STR(m.begin()->first.c_str(), "one");
	std::unordered_map<int, std::string> u;
	for (int k = 0; k < 500; k++)
		u[k] = std::to_string(k * k);
	CHECK_STR(u.at(20).c_str(), "400");
	std::set<int> set(v.begin(), v.begin() + 10);
	std::deque<int> dq{1, 2, 3};
	dq.push_front(0);
	std::list<int> list{3, 1, 2};
	list.sort();
	CHECK(set.size() == 10 && dq.front() == 0 && list.front() == 1);
	auto shared = std::make_shared<std::vector<int>>(3, 7);
	std::weak_ptr<std::vector<int>> weak = shared;
	std::unique_ptr<int[]> array(new int[16]());
	CHECK(weak.lock()->at(2) == 7 && array[15] == 0);
	std::optional<int> maybe;
	std::variant<int, std::string> var = std::string("text");
	std::function<int(int)> twice = [](int x) { return 2 * x; };
	CHECK(!maybe && std::get<std::string>(var) == "text" && twice(21) == 42);
	// std::filesystem links (host files through stat; no directory listing, see README).
	std::filesystem::path path("dir/file.txt");
	std::error_code error;
	CHECK(path.extension() == ".txt" && path.parent_path() == "dir");
	CHECK(!std::filesystem::exists("/no/such/hermit/file", error));
}

int main()
{
	CHECK_INT(construction_log.size(), 2);
	CHECK(construction_log.size() == 2 && construction_log[0] == "first" && construction_log[1] == "second");
	CHECK(first.env_seen && second.env_seen);
	exceptions();
	strings_and_streams();
	containers();
	std::cout << "iostream works: " << 1.5 << std::endl;
	TEST_DONE();
}
