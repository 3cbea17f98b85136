import pytest
from childlink_common.testing.services import System


@pytest.fixture
def system(rabbit_config, tmp_path):
    running = System(rabbit_config["AMQP_URI"], tmp_path).start()
    yield running
    running.stop()
    for name, process in running.processes.items():  # shown by pytest only when the test failed
        print(f"----- {name} log (tail) -----\n{process.logs()[-4000:]}")
