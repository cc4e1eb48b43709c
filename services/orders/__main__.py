from services.orders.app import build
from shared.runtime import main

main(build)
