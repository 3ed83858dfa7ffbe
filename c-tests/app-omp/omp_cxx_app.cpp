// omp_cxx_app.cpp: an OpenMP C++17 application built with find_package(OpenMP); exits with 7 when all is right.
#include <omp.h>

#include <iostream>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

int main()
{
	std::vector<double> values(10000);
	std::iota(values.begin(), values.end(), 1.0);
	double sum = 0;
#pragma omp parallel for reduction(+ : sum)
	for (std::size_t i = 0; i < values.size(); i++)
		sum += values[i];
	bool caught = false;
	try {
		throw std::runtime_error("thrown");
	} catch (const std::exception &e) {
		caught = std::string(e.what()) == "thrown";
	}
	std::cout << "omp_cxx_app: " << omp_get_max_threads() << " threads, sum " << sum << std::endl;
	return sum == 50005000.0 && caught ? 7 : 1;
}
