from services.inventory.app import build
from shared.runtime import main

main(build)
