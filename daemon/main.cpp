#include "daemon/cli.hpp"

int main(int argc, char** argv) {
    return casacal::daemon::main_program(argc, argv);
}
